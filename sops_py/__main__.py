from sops_py.cli import main

if __name__ == "__main__":
    main(program=True)

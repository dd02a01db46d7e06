"""The line scanner (``sops_py.stores.yaml_lines.scan``) against the full loader
(``yaml_load.load_reference``).

Safety: on generated texts (tests/yaml_gen.py: random trees with random formatting, and mutations of them),
``scan`` returns None or exactly the reference tree (types compared at every node, comments with their
``inline`` flag), never a tree where the reference fails, and raises nothing but the reference's
CouldNotReadInputFile. Effectiveness: ``scan`` reads the files sops writes (testdata fixtures, the
benchmark workloads encrypted by sops-py, generated trees re-emitted in sops' layout) and the typical
hand-written files of ``CORPUS`` marked ``must_accept``.

Run with ``-s`` to see the accepted ratios.
"""

from __future__ import annotations

import importlib.util
import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sops_py.errors import CouldNotReadInputFile, SopsError
from sops_py.stores import yaml_load
from sops_py.tree import Branch, Comment, Time
from tests.helpers import AGE_RECIPIENT, ROOT, TESTDATA
from tests.yaml_gen import mutated_texts, yaml_texts

yaml_lines = pytest.importorskip("sops_py.stores.yaml_lines")
scan: Callable[[str], list[Branch] | None] = yaml_lines.scan
load_reference: Callable[[str], list[Branch]] = getattr(yaml_load, "load_reference", yaml_load._load)

FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                      HealthCheck.filter_too_much])


# ------------------------------------------------------------------------------- strict comparison

def tree_diff(a: Any, b: Any, path: str = "$") -> str | None:
    """None when ``a`` and ``b`` are the same tree, types included (``True``, ``1`` and ``1.0`` differ; NaN
    equals NaN; -0.0 differs from 0.0); else where they first differ."""
    ta, tb = type(a), type(b)
    if ta is not tb:
        return f"{path}: {ta.__name__} {a!r} != {tb.__name__} {b!r}"
    if ta is Branch or ta is list or ta is tuple:
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            d = tree_diff(x, y, f"{path}.key" if ta is tuple and i == 0 else
                          f"{path}.value" if ta is tuple else f"{path}[{i}]")
            if d:
                return d
        if len(a) != len(b):
            extra = a[len(b):] if len(a) > len(b) else b[len(a):]
            return f"{path}: {len(a)} items != {len(b)} items (extra: {extra[:3]!r})"
        return None
    if ta is float:
        if (a != a and b != b) or (a == b and math.copysign(1.0, a) == math.copysign(1.0, b)):
            return None
        return f"{path}: {a!r} != {b!r}"
    if ta is Comment:
        return tree_diff(a.value, b.value, path + ".comment") or tree_diff(a.inline, b.inline, path + ".inline")
    if ta is Time:
        return tree_diff(a.text, b.text, path + ".time")
    if a != b:
        return f"{path}: {a!r} != {b!r}"
    return None


def test_tree_diff() -> None:
    assert tree_diff([Branch([("a", 1)])], [Branch([("a", 1)])]) is None
    assert tree_diff([Branch([("a", 1)])], [Branch([("a", True)])])
    assert tree_diff([Branch([("a", 1)])], [Branch([("a", 1.0)])])
    assert tree_diff([Branch([(1, "x")])], [Branch([(1.0, "x")])])
    assert tree_diff([Branch([("a", [])])], [Branch([("a", Branch())])])
    assert tree_diff(Branch([(Comment("c"), None)]), Branch([(Comment("c", True), None)]))
    assert tree_diff([Comment("c")], ["c"])
    assert tree_diff(math.nan, math.nan) is None
    assert tree_diff(0.0, -0.0)
    assert tree_diff(Time("2001-12-14T00:00:00Z"), "2001-12-14T00:00:00Z")
    assert tree_diff([1, 2], [1, 2, 3])
    assert tree_diff(None, "") and tree_diff(b"a", "a")


# --------------------------------------------------------------------------------- the differential

def check(text: str) -> str:
    """Compare scan with the reference on ``text``; returns the outcome: accepted, declined (scan None on
    valid text), invalid (the reference fails, scan None or the same error)."""
    ref_err: str | None = None
    ref: list[Branch] = []
    try:
        ref = load_reference(text)
    except CouldNotReadInputFile as e:
        ref_err = str(e)
    try:
        got = scan(text)
    except CouldNotReadInputFile as e:
        assert ref_err is not None, f"scan raised {e!r}, the reference reads {text!r}"
        assert str(e) == ref_err, f"scan raised {e!r}, the reference {ref_err!r}"
        return "invalid"
    if got is None:
        return "invalid" if ref_err is not None else "declined"
    assert ref_err is None, f"scan returned {got!r} where the reference fails with {ref_err!r}"
    d = tree_diff(got, ref)
    assert d is None, f"scan != reference at {d}\ntext: {text!r}\nscan: {got!r}\nref:  {ref!r}"
    return "accepted"


def _run(strategy: Any, examples: int, name: str) -> Counter[str]:
    stats: Counter[str] = Counter()

    @settings(FAST, max_examples=examples)
    @given(strategy)
    def run(text: str) -> None:
        stats[check(text)] += 1

    run()
    valid = stats["accepted"] + stats["declined"]
    print(f"\n{name}: {sum(stats.values())} texts, {dict(stats)}, valid {valid / max(sum(stats.values()), 1):.0%}, "
          f"accepted {stats['accepted'] / max(valid, 1):.0%} of the valid ones")
    return stats


@pytest.mark.parametrize("profile", ["all", "tidy"])
def test_generated_texts(profile: str) -> None:
    """Generated documents: every construct of the brief in tidy and messy layouts, some invalid on purpose
    ("all"), or only tidy ones, close to what people and sops write ("tidy").

    The floors on the ratios keep the property meaningful: texts the scanner declines prove nothing."""
    strategy = yaml_texts() if profile == "all" else yaml_texts(tidy=True)
    stats = _run(strategy, 1500 if profile == "all" else 800, f"generated ({profile})")
    total = sum(stats.values())
    valid = stats["accepted"] + stats["declined"]
    assert valid / total > (0.6 if profile == "all" else 0.8), "the generator should mostly write valid YAML"
    assert stats["accepted"] / valid > (0.05 if profile == "all" else 0.1), "the scanner reads too few texts"


def test_mutated_texts() -> None:
    """Valid documents with a few characters or lines inserted, deleted or re-indented."""
    _run(mutated_texts(), 500, "mutated")


def _sops_layout(text: str, indent: int) -> str | None:
    from sops_py.stores.yaml_emit import emit_documents

    try:
        branches = load_reference(text)
        return emit_documents(branches[:1], indent)
    except SopsError:
        return None


def test_sops_layout_texts() -> None:
    """Generated trees as sops writes them (its emitter, indent 4 or 2). The scanner declines quoted keys,
    comments at a closing block's column, indentation indicators...: the floor is low for now."""
    declined: list[str] = []
    stats: Counter[str] = Counter()

    @settings(FAST, max_examples=300)
    @given(yaml_texts(wild=False), st.sampled_from([4, 2]))
    def run(text: str, indent: int) -> None:
        out = _sops_layout(text, indent)
        assume(out is not None)
        assert out is not None
        outcome = check(out)
        stats[outcome] += 1
        if outcome == "declined":
            declined.append(out)

    run()
    n = sum(stats.values())
    print(f"\nsops layout: {n} texts, {dict(stats)}, accepted {stats['accepted'] / max(n, 1):.0%}")
    for text in sorted(declined, key=len)[:3]:
        print("  declined:", repr(text))
    assert stats["accepted"] / max(n, 1) > 0.3


# ------------------------------------------------------------------------------------- edge cases

EDGE_CASES = [
    # found by fuzzing the scanner: comments after an empty value where blocks close, comments at the
    # innermost column separated by a blank line, a block scalar header with an indicator and a comment
    "k1:\n  k2: # c\n  # c\n",
    "a:\n  b: 1\n  #\n\n  # x\nc: 2\n",
    "k: |+2  # c\n  x\n",
    "a: [ main ]\nb: [\"localhost:9090\", --fix, 1, true]\nc: [a, ]\nd: [a] # c\n",
    "a: 1\n", "a:\n", "a: \n", "a:\n- x\n- y\n", "a:\n  - x\n  - y\nb: 1\n", "a:\n- x\nb: 1\n",
    "l:\n- name: x\n  value: y\n- name: z\n", "l:\n  - name: x\n    value: y\n", "l:\n  -   a: 1\n      b: 2\n",
    "l:\n- - a\n  - b\n- c\n", "a:\n  b:\n    c: 1\n", "a:\n    b:\n        c: 1\n", "a:\n   b:\n      c: 1\n",
    "a:\n  b: 1\n  c:\n     d: 2\n", "a: []\nb: {}\n", "a: [] # c\n", "1: a\ntrue: b\nnull: c\n1.5: d\n~: e\n",
    "a.b: 1\nc/d: 2\ne-f: 3\ng h: 4\n", "a: 1\na: 2\n", "a:\n  b: 1\n  b: 2\n",
    "a: 0x1F\nb: 0o17\nc: 017\nd: 08\ne: 1_000\nf: 1e3\ng: .inf\nh: -.Inf\ni: .nan\nj: -0\nk: -0.0\n",
    "a: yes\nb: No\nc: on\nd: TRUE\ne: ~\nf: null\ng: Null\n", "a: 2001-12-14\nb: 2001-12-14t21:59:43.10-05:00\n",
    "a: 2001-12-14 21:59:43.10 -5\n", "a: b#c\nb: b #c\nc: 'x' #c\nd: \"y\" # c\n", "a: b:c\n", "a: b: c\n",
    "a: trailing   \n", "a: -x\nb: ?x\nc: :x\nd: x:\n", "a: *x\n", "a: &x 1\nb: *x\n", "a: !!str 1\n",
    "a: %x\n", "a: @x\n", "a: `x\n", "a: 'it''s'\n", "a: ''\nb: \"\"\n",
    'a: "\\n\\t\\"\\\\\\x41\\u00e9\\U0001F600\\/\\0\\e\\N\\_\\L\\P\\ "\n', 'a: "\\q"\n', 'a: "\\x4"\n',
    'a: "\\ud800"\n', "a: x\n  y\n", "a: 'x\n  y'\n", 'a: "x\n  y"\n', 'a: "x\\\n  y"\n',
    "a: |\n  x\n  y\n", "a: |-\n  x\n\n", "a: |+\n  x\n\n\n", "a: >\n  x\n  y\n", "a: >-\n  x\n", "a: |2\n   x\n",
    "a: |\n  x\n\n  y\n", "a: |\n  x\n   \n  y\n", "a: |\n  x\n  # no comment\n  k: v\n", "a: | # c\n  x\n",
    "a: |\n\n  x\n", "a: |\n  \n  x\n", "a: |\n   \n  x\n", "a: |\nb: 1\n", "a: |\n  x\n# c\nb: 1\n",
    "a: |\n    x\n  # c\nb: 1\n", "a: |\n  x\n\n\n", "a: |-\n  x\n  \n", "- |\n  x\n", "a:\n  - |\n    x\n  - y\n",
    "# c\na: 1\n", "a: 1\n# c\n", "a: 1\n  # c\n", "a:\n  b: 1\n  # c\nd: 2\n", "a:\n  b: 1\n# c\nd: 2\n",
    "a:\n  b: 1\n # c\nd: 2\n", "a:\n  b: 1\n      # c\nd: 2\n", "a:\n  b: 1\n\n  # c\n\nd: 2\n",
    "a: # c\n  b: 1\n", "a:\n# c\n  b: 1\n", "a:\n  # c\n  b: 1\n", "a:\n    # c\n  b: 1\n",
    "l:\n  - x # c\n  - y\n", "l:\n  - # c\n    a: 1\n", "l:\n  # c\n  - x\n", "l:\n- x\n# c\n- y\n",
    "l:\n  - a: 1\n    # c\n    b: 2\n", "l:\n  - a: 1\n  # c\n  - b: 2\n", "l:\n  - a: 1\n# c\nm: 1\n",
    "a:\n  b:\n    c: 1\n    # c4\n  # c2\n# c0\nd: 2\n", "a:\n  b:\n    c: 1\n# c0\n  # c2\n    # c4\nd: 2\n",
    "# only\n", "# a\n\n# b\n", "", "\n", "---\na: 1\n", "a: 1\n...\n", "a: 1\n---\nb: 2\n", "%YAML 1.1\n---\na: 1\n",
    "a: 1\r\nb: 2\r\n", "a: 1\rb: 2\r", "a:\t1\n", "a: 1\t# c\n", "\ta: 1\n", "a:\n\tb: 1\n", "\ufeffa: 1\n",
    "a: 1", "a: 1\n\n\n", "ünï: 😀\n", "a: 1 #\n", "a: 1 ##\n", "a: 1 # c \n", "a: x # c # d\n", "<<: {a: 1}\n",
    "a: &x\n  b: 1\nc:\n  <<: *x\n", "a: !custom x\n", "? a\n: b\n", "a: [1, 2]\n", "a: {b: 1}\n", "- a\n", "a\n",
    "a: 1\n b: 2\n", " a: 1\n b: 2\n", "a:\n - x\n", "a:\n  - x\n   - y\n", "-a: 1\n", "a b: c d\n",
    "a: ENC[AES256_GCM,data:qrs9bHM=,iv:W0xrZ0hMZ3V3OE1xTXhRM2ZvUXR6OHc9,tag:wc1gk3MT3VR1g8t04twY1A==,type:str]\n",
    "a:    \n  b: 1\n", "a:\n\n  b: 1\n", "a:\n  \n  b: 1\n", "a:\n  b: 1\n  \n", "a: 1 \n", "a  : 1\n",
    "'a': 1\n", "\"a\": 1\n", "a: 'x' y\n", "a: \"x\" y\n", "a: -\n", "a: - x\n", "a: ? x\n", "- - - x\n",
    "l:\n-\n- x\n", "l:\n-   \n- x\n", "a: 9223372036854775808\nb: 18446744073709551616\n", "a: 1:20\n",
    # mismatches found by the generator (keep them here once fixed)
    "a:\n- x\n# c\n",  # a comment after an indentless sequence at the end of the text belongs to the sequence
    "a:\n- x\n# c\n\nb: 1\n",  # ... and so does one followed by a blank line (a foot comment)
    "a:\n  b:\n  - x\n  # c\n\n  d: 1\n",
    "a:\n  # c\n  -\n",  # a comment before an empty item: yaml.v3 drops it (last item)...
    "a:\n  # c\n  -\n  - y\n",  # ... or moves it after the empty item
]


@pytest.mark.parametrize("text", EDGE_CASES)
def test_edge_cases(text: str) -> None:
    check(text)


def test_loader_corpus() -> None:
    """The full loader's own corpus of comment placements (tests/interop/test_yaml_load_sops.py)."""
    from tests.interop import test_yaml_load_sops as corpus

    outcomes = Counter(check(text) for text in [*corpus.CORPUS.values(), *corpus.INVALID.values()])
    print(f"\nloader corpus: {dict(outcomes)}")


# -------------------------------------------------------------------------------- effectiveness

def _accepted(text: str) -> None:
    assert check(text) == "accepted", f"the scanner declines {text[:300]!r}..."


SOPS_FIXTURES = sorted(p.name for p in (TESTDATA / "sops").glob("*.yaml"))


@pytest.mark.parametrize("name", SOPS_FIXTURES)
def test_sops_fixtures(name: str) -> None:
    text = (TESTDATA / "sops" / name).read_text()
    # the scanner deliberately leaves several documents and merge keys (sops writes `!!merge <<:`)
    # to the full loader; every other fixture must be read by the scanner
    if "\n---\n" in text or "<<:" in text:
        assert check(text) == "declined"
    else:
        _accepted(text)


def _workloads() -> Any:
    spec = importlib.util.spec_from_file_location("bench_workloads", ROOT / "bench" / "workloads.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


WL = _workloads()
WORKLOADS = {"small": WL.small_yaml(), "yaml_doc": WL.yaml_doc(400), "yaml_doc_seed": WL.yaml_doc(100, seed=5),
             **{f"k8s_secret_{i}": WL.k8s_secret(i) for i in range(3)}}


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_workloads(name: str, encrypted: bool) -> None:
    import sops_py

    text = WORKLOADS[name]
    if encrypted:
        text = sops_py.encrypt(text.encode(), "yaml", age=[AGE_RECIPIENT]).decode()
    _accepted(text)


def test_workloads_sops_binary(tmp_path: Path) -> None:
    """The same workloads encrypted by the real sops (when its binary is there), indent 4 and 2."""
    from tests.interop.sops_helpers import SOPS, age_key, run_sops

    if SOPS is None:
        pytest.skip("the sops binary is not on PATH")
    for indent in (4, 2):
        cwd = tmp_path / str(indent)
        cwd.mkdir()
        (cwd / ".sops.yaml").write_text(f"stores:\n  yaml:\n    indent: {indent}\n")
        for name in ("small", "k8s_secret_0", "yaml_doc_seed"):
            (cwd / f"{name}.yaml").write_text(WORKLOADS[name])
            res = run_sops(["encrypt", "--age", age_key()[1], f"{name}.yaml"], cwd=cwd)
            assert res.returncode == 0, res.stderr
            _accepted(res.stdout.decode())


# ---------------------------------------------------------------------------- the hand-written corpus
# Typical hand-written YAML files: what "common block-style YAML" means for the scanner. Each entry is
# (name, must_accept, text): must_accept marks the files the scanner must read itself (Kubernetes Secrets
# and ConfigMaps, helm values with comments, plain secrets files); the others only have to match the
# reference when the scanner reads them.

CORPUS: list[tuple[str, bool, str]] = [
    ("k8s-secret-stringdata", True, """\
apiVersion: v1
kind: Secret
metadata:
  name: db-credentials
  namespace: production
type: Opaque
stringData:
  DB_USER: admin
  DB_PASSWORD: "s3cr3t!#"
  DB_HOST: postgres.production.svc.cluster.local
  DB_PORT: "5432"
"""),
    ("k8s-secret-data-labels", True, """\
apiVersion: v1
kind: Secret
metadata:
  name: api-keys
  namespace: default
  labels:
    app.kubernetes.io/name: backend
    app.kubernetes.io/part-of: shop
  annotations:
    kubernetes.io/description: API keys for the payment provider
type: Opaque
data:
  # base64 of the real values
  stripe-key: c2tfbGl2ZV94eHh4eHh4eHh4eHg=
  webhook-secret: d2hzZWNfeHh4eHh4eHh4eA==
"""),
    ("k8s-secret-tls", True, """\
apiVersion: v1
kind: Secret
metadata:
  name: example-tls
type: kubernetes.io/tls
data:
  tls.crt: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM=
  tls.key: LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUV2UUlC
"""),
    ("k8s-secret-4-space", True, """\
apiVersion: v1
kind: Secret
metadata:
    name: secret-3
    namespace: default
type: Opaque
stringData:
    alpha12: bravo345
    # rotated 2024-01-01
    charlie9: delta77
"""),
    ("k8s-configmap-block", True, """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: nginx-config
  namespace: web
data:
  # the main configuration
  nginx.conf: |
    user nginx;
    worker_processes auto;

    events {
      worker_connections 1024;
    }

    http {
      # inside the literal: not a comment
      server {
        listen 80;
        location / {
          proxy_pass http://backend:8080;
        }
      }
    }
  LOG_LEVEL: info
  FEATURE_FLAGS: "a,b,c"
"""),
    ("k8s-configmap-properties", True, """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: game-config
  labels:
    app: game
data:
  player_initial_lives: "3"
  ui_properties_file_name: user-interface.properties
  game.properties: |-
    enemy.types=aliens,monsters
    player.maximum-lives=5
  user-interface.properties: |
    color.good=purple
    color.bad=yellow
    allow.textmode=true
"""),
    ("k8s-deployment", False, """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.25.3
        ports:
        - containerPort: 80
          protocol: TCP
        env:
        - name: LOG_LEVEL
          value: debug
        - name: DB_PASSWORD
          valueFrom:
            secretKeyRef:
              name: db-credentials
              key: DB_PASSWORD
        resources:
          limits:
            cpu: 500m
            memory: 128Mi
        readinessProbe:
          httpGet:
            path: /healthz
            port: 80
          initialDelaySeconds: 5
      imagePullSecrets:
      - name: regcred
"""),
    ("k8s-deployment-indented-seq", False, """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: worker
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: worker
          image: "ghcr.io/example/worker:v2"
          args:
            - --queue
            - jobs
            - --concurrency=4
          volumeMounts:
            - name: config
              mountPath: /etc/worker
              readOnly: true
      volumes:
        - name: config
          configMap:
            name: worker-config
"""),
    ("k8s-service", False, """\
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: ClusterIP
  selector:
    app: web
  ports:
  - name: http
    port: 80
    targetPort: 8080
"""),
    ("k8s-ingress", False, """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  annotations:
    cert-manager.io/cluster-issuer: letsencrypt-prod
    nginx.ingress.kubernetes.io/rewrite-target: /
    nginx.ingress.kubernetes.io/proxy-body-size: "50m"
spec:
  ingressClassName: nginx
  tls:
  - hosts:
    - example.com
    secretName: example-tls
  rules:
  - host: example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: web
            port:
              number: 80
"""),
    ("k8s-multi-document", False, """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: Secret
metadata:
  name: shop-secret
  namespace: shop
stringData:
  token: abc123
"""),
    ("kustomization", False, """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: production
resources:
  - deployment.yaml
  - service.yaml
generators:
  - ./secret-generator.yaml
images:
  - name: nginx
    newTag: 1.25.3
"""),
    ("ksops-generator", False, """\
apiVersion: viaduct.ai/v1
kind: ksops
metadata:
  # Specify a name
  name: example-secret-generator
  annotations:
    config.kubernetes.io/function: |
        exec:
          path: ksops
files:
  - ./secret.enc.yaml
"""),
    ("docker-compose", False, """\
version: "3.8"

services:
  web:
    image: "nginx:latest"
    ports:
      - "8080:80"
      - "443:443"
    depends_on:
      - api
    environment:
      - NGINX_HOST=example.com
      - NGINX_PORT=80
  api:
    build: ./api
    restart: unless-stopped
    environment:
      DATABASE_URL: postgres://user:pass@db:5432/app
      REDIS_URL: redis://cache:6379/0
    volumes:
      - ./api:/app
      - api-data:/var/lib/api
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: example  # change me

volumes:
  api-data:
"""),
    ("docker-compose-healthcheck", False, """\
services:
  app:
    image: example/app:1.0
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost"]
      interval: 1m30s
      timeout: 10s
      retries: 3
    command: ["npm", "start"]
"""),
    ("helm-values-comments", True, """\
# Default values for myapp.
# This is a YAML-formatted file.
# Declare variables to be passed into your templates.

replicaCount: 1

image:
  repository: nginx
  pullPolicy: IfNotPresent
  # Overrides the image tag whose default is the chart appVersion.
  tag: ""

imagePullSecrets: []
nameOverride: ""
fullnameOverride: ""

serviceAccount:
  # Specifies whether a service account should be created
  create: true
  # Annotations to add to the service account
  annotations: {}
  # The name of the service account to use.
  # If not set and create is true, a name is generated using the fullname template
  name: ""

podAnnotations: {}

securityContext: {}
  # capabilities:
  #   drop:
  #   - ALL
  # readOnlyRootFilesystem: true
  # runAsNonRoot: true
  # runAsUser: 1000

service:
  type: ClusterIP
  port: 80

ingress:
  enabled: false
  className: ""
  annotations: {}
    # kubernetes.io/ingress.class: nginx
    # kubernetes.io/tls-acme: "true"
  hosts:
    - host: chart-example.local
      paths:
        - path: /
          pathType: ImplementationSpecific
  tls: []
  #  - secretName: chart-example-tls
  #    hosts:
  #      - chart-example.local

resources: {}
  # We usually recommend not to specify default resources and to leave this as a conscious
  # choice for the user. This also increases chances charts run on environments with little
  # resources, such as Minikube.
  # limits:
  #   cpu: 100m
  #   memory: 128Mi

autoscaling:
  enabled: false
  minReplicas: 1
  maxReplicas: 100
  targetCPUUtilizationPercentage: 80
  # targetMemoryUtilizationPercentage: 80

nodeSelector: {}

tolerations: []

affinity: {}
"""),
    ("helm-values-bitnami", True, """\
## @section Global parameters
## Global Docker image parameters
##

## @param global.imageRegistry Global Docker image registry
## @param global.storageClass Global StorageClass for Persistent Volume(s)
##
global:
  imageRegistry: ""
  ## E.g.
  ## imagePullSecrets:
  ##   - myRegistryKeySecretName
  ##
  imagePullSecrets: []
  storageClass: ""

## @section PostgreSQL parameters

auth:
  ## @param auth.enablePostgresUser Assign a password to the "postgres" admin user
  ##
  enablePostgresUser: true
  ## @param auth.postgresPassword Password for the "postgres" admin user
  ##
  postgresPassword: "changeme"
  username: app
  database: app_production
  ## @param auth.existingSecret Name of existing secret to use for PostgreSQL credentials
  existingSecret: ""

primary:
  ## @param primary.extendedConfiguration Extended PostgreSQL Primary configuration
  ## ref: https://github.com/bitnami/containers/tree/main/bitnami/postgresql#allow-settings-to-be-loaded-from-files-other-than-the-default-postgresqlconf
  ##
  extendedConfiguration: |
    max_connections = 200
    shared_buffers = 256MB
  persistence:
    enabled: true
    size: 8Gi
"""),
    ("helm-values-secrets", True, """\
# secrets.yaml for helm-secrets
postgresql:
  auth:
    password: hunter2
    replicationPassword: hunter3
redis:
  # the redis password
  password: r3d1s
smtp:
  host: smtp.example.com
  port: 587
  user: mailer@example.com
  password: "p@ss word"
"""),
    ("helm-chart", False, """\
apiVersion: v2
name: myapp
description: A Helm chart for Kubernetes
type: application
version: 0.1.0
appVersion: "1.16.0"
dependencies:
  - name: postgresql
    version: 12.x.x
    repository: https://charts.bitnami.com/bitnami
    condition: postgresql.enabled
maintainers:
  - name: Jane Doe
    email: jane@example.com
"""),
    ("github-actions", False, """\
name: CI

on:
  push:
    branches: [ main ]
  pull_request:
    branches:
      - main

permissions:
  contents: read

jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Set up Python
        uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - name: Install
        run: |
          python -m pip install --upgrade pip
          pip install -e .[test]
      # run the tests
      - name: Test
        run: pytest -q
        env:
          SOPS_AGE_KEY: ${{ secrets.SOPS_AGE_KEY }}
"""),
    ("github-actions-block-lists", False, """\
name: Release
on:
  push:
    tags:
      - "v*"
jobs:
  build:
    runs-on: ${{ matrix.os }}
    strategy:
      matrix:
        os:
          - ubuntu-latest
          - macos-latest
    steps:
      - uses: actions/checkout@v4
      - run: make release
        shell: bash
"""),
    ("gitlab-ci", False, """\
stages:
  - build
  - test
  - deploy

variables:
  DOCKER_DRIVER: overlay2

build-job:
  stage: build
  script:
    - echo "Compiling the code..."
    - make build
  artifacts:
    paths:
      - dist/

deploy-prod:
  stage: deploy
  script:
    - ./deploy.sh production
  only:
    - main
  when: manual
"""),
    ("sops-config", False, """\
creation_rules:
  # production secrets: two keys
  - path_regex: secrets/prod/.*\\.yaml$
    encrypted_regex: ^(data|stringData)$
    age: age1p5clvj6k6g37egsv4lgyrpcafmascz29xqxgqh0706as54kfp97sqxgkky
  - path_regex: secrets/dev/.*
    age: >-
      age1p5clvj6k6g37egsv4lgyrpcafmascz29xqxgqh0706as54kfp97sqxgkky,
      age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
"""),
    ("app-secrets", True, """\
# Application secrets -- encrypt with sops before committing!
database:
  host: db.internal
  port: 5432
  user: app
  password: "correct horse battery staple"
api_keys:
  github: ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
  slack: xoxb-0000000000-0000000000000-xxxxxxxxxxxxxxxxxxxxxxxx
# TLS material
tls:
  cert: |
    -----BEGIN CERTIFICATE-----
    MIIBszCCAVmgAwIBAgIUJ0a3ZmGQ
    -----END CERTIFICATE-----
  key: |
    -----BEGIN PRIVATE KEY-----
    MIGHAgEAMBMGByqGSM49AgEGCCqG
    -----END PRIVATE KEY-----
"""),
    ("ansible-group-vars", False, """\
---
# group_vars/all.yml
ntp_server: pool.ntp.org
users:
  - name: deploy
    groups: sudo
    shell: /bin/bash
  - name: backup
    groups: backup
vault_db_password: supersecret
"""),
    ("prometheus", False, """\
global:
  scrape_interval: 15s
  evaluation_interval: 15s

alerting:
  alertmanagers:
    - static_configs:
        - targets:
          - alertmanager:9093

rule_files:
  # - "first_rules.yml"

scrape_configs:
  - job_name: "prometheus"
    static_configs:
      - targets: ["localhost:9090"]
  - job_name: node
    scrape_interval: 30s
    static_configs:
      - targets:
          - node1:9100
          - node2:9100
"""),
    ("alertmanager", False, """\
route:
  receiver: team-pager
  group_by:
    - alertname
    - cluster
  group_wait: 30s
receivers:
  - name: team-pager
    pagerduty_configs:
      - service_key: 0123456789abcdef
  - name: team-slack
    slack_configs:
      - api_url: https://hooks.slack.com/services/T000/B000/XXXX
        channel: '#alerts'
        send_resolved: true
"""),
    ("spring-application", False, """\
server:
  port: 8080
spring:
  datasource:
    url: jdbc:postgresql://localhost:5432/app
    username: app
    password: secret
  jpa:
    hibernate:
      ddl-auto: validate
    show-sql: false
logging:
  level:
    root: INFO
    org.springframework.web: DEBUG
"""),
    ("home-assistant-secrets", True, """\
# Use this file to store secrets like usernames and passwords.
# Learn more at https://www.home-assistant.io/docs/configuration/secrets/
some_password: welcome
http_password: hunter2
latitude: 52.3731
longitude: 4.8922
mqtt_user: homeassistant
mqtt_password: 'it''s a secret'
"""),
    ("pre-commit", False, """\
repos:
  - repo: https://github.com/pre-commit/pre-commit-hooks
    rev: v4.5.0
    hooks:
      - id: trailing-whitespace
      - id: end-of-file-fixer
  - repo: https://github.com/astral-sh/ruff-pre-commit
    rev: v0.1.9
    hooks:
      - id: ruff
        args: [--fix]
"""),
    ("dependabot", False, """\
version: 2
updates:
  - package-ecosystem: "pip"
    directory: "/"
    schedule:
      interval: "weekly"
  - package-ecosystem: "github-actions"
    directory: "/"
    schedule:
      interval: "monthly"
"""),
    ("argocd-application", False, """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: guestbook
  namespace: argocd
spec:
  project: default
  source:
    repoURL: https://github.com/argoproj/argocd-example-apps.git
    targetRevision: HEAD
    path: guestbook
  destination:
    server: https://kubernetes.default.svc
    namespace: guestbook
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
"""),
    ("cloud-init", False, """\
#cloud-config
package_update: true
packages:
  - nginx
  - git
users:
  - name: ops
    sudo: ALL=(ALL) NOPASSWD:ALL
    ssh_authorized_keys:
      - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ops@example
write_files:
  - path: /etc/motd
    content: |
      Welcome!
runcmd:
  - systemctl enable --now nginx
"""),
    ("circleci-anchors", False, """\
version: 2.1
defaults: &defaults
  working_directory: ~/repo
  docker:
    - image: cimg/python:3.12
jobs:
  test:
    <<: *defaults
    steps:
      - checkout
      - run: pytest
"""),
    ("openapi-snippet", False, """\
openapi: 3.0.3
info:
  title: Pet Store
  version: 1.0.0
paths:
  /pets/{petId}:
    get:
      summary: Info for a specific pet
      parameters:
        - name: petId
          in: path
          required: true
          schema:
            type: string
      responses:
        '200':
          description: Expected response to a valid request
        default:
          description: unexpected error
"""),
]


# ---------------------------------------------------------------- typical hand-written files

@pytest.mark.parametrize("name", [name for name, _, _ in CORPUS])
def test_hand_written(name: str) -> None:
    must_accept, text = next((m, t) for n, m, t in CORPUS if n == name)
    outcome = check(text)
    assert outcome != "invalid", "the corpus holds valid files"
    if must_accept:
        assert outcome == "accepted", f"the scanner declines {name}"


def test_hand_written_summary() -> None:
    outcomes = {name: check(text) for name, _, text in CORPUS}
    declined = sorted(n for n, o in outcomes.items() if o != "accepted")
    print(f"\nhand-written: {len(outcomes) - len(declined)}/{len(outcomes)} accepted; declined: {declined}")
    assert len(declined) <= len(outcomes) // 2

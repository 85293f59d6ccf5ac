"""kube-score (github.com/zegl/kube-score) over each rendered overlay: any CRITICAL finding
fails, and so does a warning not listed below with its reason. kube-score is built by
`make kube-score` (tools/kube-score.sh) at the version tools/versions.env pins.

It scores what the manifests say, not what runs: the daprd sidecars are injected in the
cluster, so it sees only the app containers (docs/kubernetes.md)."""

import json
import re
import subprocess
from typing import Any

import pytest
import yaml

from .manifests import KUBERNETES_VERSION, PROFILES, ROOT, render

KUBE_SCORE = ROOT / ".runtime" / "bin" / "kube-score"
BUILD = "make kube-score (or tools/kube-score.sh)"
TIMEOUT_SECONDS = 60
# kube-score's grades (scorecard.Grade).
CRITICAL, WARNING = 1, 5

# The checks that do not apply, each skipped by --ignore-test, with why.
IGNORED = {
    # kube-score wants Always, so that a node checks the pull secret at each start of a
    # pod. The images carry a version tag that names one build for good
    # (kustomization.yaml), so IfNotPresent is the policy such a tag calls for, and the
    # dev recipes load the images into the node from no registry at all, where Always
    # could not start a pod.
    "container-image-pull-policy",
}
# Optional checks the shop meets, turned on so that they stay met. Not turned on: the
# *-requests-equal-limits ones, which ask for the Guaranteed QoS class; the shop's
# requests are what a pod uses at rest, and its limits the bursts it may take.
ENABLED = {
    "container-seccomp-profile",
    "container-ports-check",
}
# Warnings that remain, by (check, summary), with why; docs/kubernetes.md lists them too.
ACCEPTED_WARNINGS = {
    # Egress stays open: the pods reach the backing services, Dapr's control plane and,
    # in production, managed services whose addresses are not the cluster's to know.
    ("pod-networkpolicy", "The pod does not have a matching egress NetworkPolicy"),
}


def _kube_score(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    if not KUBE_SCORE.exists():
        pytest.fail(f"{KUBE_SCORE} is missing: build it with `{BUILD}`")
    return subprocess.run(
        [str(KUBE_SCORE), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


def _pinned_version() -> str:
    versions = (ROOT / "tools" / "versions.env").read_text()
    match = re.search(r"^KUBE_SCORE_VERSION=(\S+)$", versions, re.MULTILINE)
    assert match, "tools/versions.env names no KUBE_SCORE_VERSION"
    return match[1]


def test_kube_score_is_the_pinned_version() -> None:
    result = _kube_score("version")
    wanted = _pinned_version()
    have = result.stdout.strip()
    assert have.startswith(f"kube-score version: {wanted},"), (
        f"{KUBE_SCORE} is not kube-score {wanted} ({have}): rebuild it with `{BUILD}`"
    )


def test_the_ignored_and_enabled_checks_exist() -> None:
    # kube-score takes an unknown check id silently: a typo would skip nothing.
    result = _kube_score("list")
    assert result.returncode == 0, result.stderr
    checks = {line.split(",")[0]: line.split(",")[-1] for line in result.stdout.splitlines()}
    assert set(checks) >= IGNORED, IGNORED - set(checks)
    assert all(checks.get(check) == "optional" for check in ENABLED), ENABLED


def _findings(report: list[dict[str, Any]], grade: int) -> list[tuple[str, str, str, str]]:
    """(object, check, summary, description) of each finding of that grade."""
    return [
        (obj["object_name"], check["check"]["id"], comment["summary"], comment["description"])
        for obj in report
        for check in obj["checks"]
        if not check["skipped"] and check["grade"] == grade
        for comment in check["comments"] or [{"summary": "", "description": ""}]
    ]


def _listing(findings: list[tuple[str, str, str, str]]) -> str:
    return "\n".join(
        f"  {obj} [{check}] {summary} {description}"
        for obj, check, summary, description in findings
    )


@pytest.mark.parametrize("profile", PROFILES)
def test_kube_score_finds_nothing_critical(profile: str) -> None:
    manifests = yaml.safe_dump_all(render(f"overlays/{profile}"))
    result = _kube_score(
        "score",
        f"--kubernetes-version=v{KUBERNETES_VERSION.rsplit('.', 1)[0]}",
        "--output-format=json",
        # Every skip is one of IGNORED, written here: none by annotations in the manifests.
        "--disable-ignore-checks-annotations",
        *(f"--ignore-test={check}" for check in sorted(IGNORED)),
        *(f"--enable-optional-test={check}" for check in sorted(ENABLED)),
        "-",
        stdin=manifests,
    )
    # Exit 1 on a critical finding still writes the report; anything else is an error.
    assert result.returncode in (0, 1) and result.stdout, result.stderr
    report = json.loads(result.stdout)
    assert {obj["type_meta"]["kind"] for obj in report} >= {
        "Deployment",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "NetworkPolicy",
    }, "kube-score scored none of the objects that matter"
    critical = _findings(report, CRITICAL)
    warnings = _findings(report, WARNING)
    print(f"kube-score on overlays/{profile}: {len(critical)} critical, {len(warnings)} warnings")
    print(_listing(warnings))
    assert not critical, (
        f"kube-score's critical findings on overlays/{profile}:\n{_listing(critical)}"
    )
    unexpected = [w for w in warnings if (w[1], w[2]) not in ACCEPTED_WARNINGS]
    assert not unexpected, (
        f"warnings not in ACCEPTED_WARNINGS (fix them, or list them with why, there and in "
        f"docs/kubernetes.md):\n{_listing(unexpected)}"
    )
    assert result.returncode == 0


def test_the_docs_name_the_version_and_every_skip_and_warning() -> None:
    docs = (ROOT / "docs" / "kubernetes.md").read_text()
    assert f"kube-score {_pinned_version()}" in docs
    for check in [*IGNORED, *ENABLED, *(check for check, _ in ACCEPTED_WARNINGS)]:
        assert f"`{check}`" in docs, check

"""The flow canvas's shape of a flow: steps as a tree of sequences, branches drawn rather than numbered.

Storage stays ``FlowStep`` rows with positions and targets (``steps``); the canvas reads and writes a tree::

    {"steps": [node, ...], "detached": [[node, ...], ...]}
    node = {"key": "s12", "id": 12, "kind": "send_email", "name": "", "template": 3, "message_class": "flow",
            "config": {...without targets...}, "branches": [[node, ...], ...]}
    jump = {"kind": "jump", "to": "s12"}   # "then continue at that step" (a merge or loop kept from storage)

Branches: a condition split has [yes, no], a wait for an event [it happened, timed out], an A/B split one
per variant (in ``config["variants"]`` order). A split ends its sequence: what follows is in its branches.
``detached`` holds steps no path reaches (kept, never silently deleted). ``to_tree`` and ``from_tree``
round-trip: ``from_tree`` numbers the steps depth first and writes every target explicitly.

``card_numbers``: customers waiting at each step and messages it sent, in two grouped queries.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, Q

from ..models import Enrollment, FlowStep, Message

BRANCHING = {"condition": ("yes", "no"), "wait_for_event": ("on_event", "on_timeout")}
ENDS = ("exit",)


def _key(step: FlowStep) -> str:
    return f"s{step.pk}"


def _clean_config(kind: str, config: dict) -> dict:
    config = {k: v for k, v in (config or {}).items() if k not in ("next", "yes", "no", "on_event", "on_timeout")}
    if kind == "ab_split":
        config["variants"] = [{k: v for k, v in variant.items() if k != "next"}
                              for variant in config.get("variants") or [] if isinstance(variant, dict)]
    return config


def to_tree(steps: Iterable[FlowStep]) -> dict:
    by_position = {s.position: s for s in steps}
    order = sorted(by_position)
    seen: dict[int, str] = {}

    def following(position: int) -> int | None:
        later = [p for p in order if p > position]
        return later[0] if later else None

    def sequence(position: int | None) -> list[dict]:
        out: list[dict] = []
        guard = 0
        while position is not None and position in by_position and guard <= len(order):
            guard += 1
            if position in seen:
                out.append({"kind": "jump", "to": seen[position]})
                break
            step = by_position[position]
            seen[position] = _key(step)
            config = step.config or {}
            node = {"key": _key(step), "id": step.pk, "kind": step.kind, "name": step.name,
                    "template": step.template_id, "message_class": step.message_class,
                    "config": _clean_config(step.kind, config), "branches": []}
            out.append(node)
            if step.kind == "condition":
                node["branches"] = [sequence(config.get("yes", following(position))), sequence(config.get("no"))]
                break
            if step.kind == "wait_for_event":
                node["branches"] = [sequence(config.get("on_event")),
                                    sequence(config.get("on_timeout", following(position)))]
                break
            if step.kind == "ab_split":
                node["branches"] = [sequence(v.get("next", following(position)) if isinstance(v, dict) else None)
                                    for v in config.get("variants") or []]
                break
            if step.kind in ENDS:
                break
            position = config["next"] if "next" in config else following(position)
        return out

    tree = {"steps": sequence(order[0]) if order else [], "detached": []}
    for position in order:
        if position not in seen:
            tree["detached"].append(sequence(position))
    return tree


class TreeError(ValueError):
    """A tree the canvas should never post (a bad shape); ``key`` is the card it is about, if any."""

    def __init__(self, why: str, key: str = ""):
        self.key = key
        super().__init__(why)


def from_tree(tree: dict) -> tuple[list[dict], list[str]]:
    """The steps (for ``editing.validate_flow`` / ``save_steps``) and, for each, the key of its card."""
    if not isinstance(tree, dict) or not isinstance(tree.get("steps"), list):
        raise TreeError("the canvas sent no steps")
    nodes: list[dict] = []  # in position order
    position_of: dict[str, int] = {}

    def number(sequence) -> None:
        if not isinstance(sequence, list):
            raise TreeError("a branch is not a list of steps")
        for node in sequence:
            if not isinstance(node, dict):
                raise TreeError("a step is not an object")
            if node.get("kind") == "jump":
                continue
            key = str(node.get("key") or f"n{len(nodes)}")
            if key in position_of:
                raise TreeError("the same card appears twice", key)
            node["key"] = key
            position_of[key] = len(nodes)
            nodes.append(node)
            for branch in node.get("branches") or []:
                number(branch)

    sequences = [tree["steps"], *(tree.get("detached") or [])]
    for sequence in sequences:
        number(sequence)

    def first(sequence: list[dict]) -> int | None:
        if not sequence:
            return None
        head = sequence[0]
        if head.get("kind") == "jump":
            if head.get("to") not in position_of:
                raise TreeError("“continue at” names a step that is no longer in the flow")
            return position_of[head["to"]]
        return position_of[head["key"]]

    specs: list[dict] = [{}] * len(nodes)

    def targets(sequence: list[dict]) -> None:
        for i, node in enumerate(sequence):
            if node.get("kind") == "jump":
                continue
            kind = node.get("kind")
            config = dict(node.get("config") or {}) if isinstance(node.get("config"), dict) else {}
            branches = node.get("branches") or []
            rest = sequence[i + 1:]
            if kind in BRANCHING or kind == "ab_split":
                if rest:
                    raise TreeError("nothing can follow a split in the same line: add it to a branch", node["key"])
                if kind in BRANCHING:
                    names = BRANCHING[kind]
                    branches = (list(branches) + [[], []])[:2]
                    for name, branch in zip(names, branches, strict=True):
                        config[name] = first(branch)
                else:
                    variants = [dict(v) for v in config.get("variants") or [] if isinstance(v, dict)]
                    branches = (list(branches) + [[]] * len(variants))[:len(variants)]
                    for variant, branch in zip(variants, branches, strict=True):
                        variant["next"] = first(branch)
                    config["variants"] = variants
                for branch in branches:
                    targets(branch)
            elif kind not in ENDS:
                after, default = first(rest), position_of[node["key"]] + 1
                if after != (default if default < len(nodes) else None):
                    config["next"] = after  # the default is the following position; say it when it is not
            spec = {"position": position_of[node["key"]], "kind": kind, "name": str(node.get("name") or "")[:200],
                    "template": node.get("template") if kind == "send_email" else None, "config": config}
            if node.get("message_class"):
                spec["message_class"] = node["message_class"]
            if isinstance(node.get("id"), int):
                spec["id"] = node["id"]
            specs[spec["position"]] = spec

    for sequence in sequences:
        targets(sequence)
    return specs, [n["key"] for n in nodes]


def card_numbers(flow_id: int) -> dict[int, dict[str, int]]:
    """Step id -> {"waiting": customers waiting there now, "sent": messages it sent}: two grouped queries."""
    positions = dict(FlowStep.objects.filter(flow_id=flow_id).values_list("position", "id"))
    out = {pk: {"waiting": 0, "sent": 0} for pk in positions.values()}
    for position, n in (Enrollment.objects.filter(flow_id=flow_id, status=Enrollment.Status.ACTIVE)
                        .values("position").annotate(n=Count("id")).values_list("position", "n")):
        if position in positions:
            out[positions[position]]["waiting"] = n
    for step_id, n in (Message.objects.filter(flow_id=flow_id, step__isnull=False).values("step_id")
                       .annotate(n=Count("id", filter=Q(state=Message.State.SENT))).values_list("step_id", "n")):
        if step_id in out:
            out[step_id]["sent"] = n
    return out

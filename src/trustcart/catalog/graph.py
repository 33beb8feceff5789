"""Data-flow diagram of the map: Mermaid text, or SVG/PNG drawn with networkx and matplotlib.

Why both: Mermaid renders in Markdown (GitHub, docs, the DPO dashboard) and diffs well in
review; SVG/PNG are for reports and DPIAs where no Mermaid renderer is present. Third-country
flows are drawn dashed and labelled with the destination country so a reviewer sees transfers
at a glance. networkx and matplotlib are imported inside the function: they are slow to import
and most users of the catalog never draw.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, Any, Literal, overload

from trustcart.catalog.countries import in_eea
from trustcart.catalog.model import DATA_SUBJECT
from trustcart.catalog.transfers import serves_eu
from trustcart.errors import ValidationError

if TYPE_CHECKING:
    from trustcart.catalog.model import DataMap, Flow

GraphFormat = Literal["mermaid", "svg", "png"]
#: Categories named on an edge before "+N more".
EDGE_CATEGORIES = 3


@overload
def render_graph(dm: DataMap, fmt: Literal["mermaid", "svg"] = ...) -> str: ...
@overload
def render_graph(dm: DataMap, fmt: Literal["png"]) -> bytes: ...
def render_graph(dm: DataMap, fmt: GraphFormat = "mermaid") -> str | bytes:
    """The flows of ``dm`` as Mermaid flowchart text, SVG text or PNG bytes."""
    if fmt == "mermaid":
        return _mermaid(dm)
    if fmt in ("svg", "png"):
        return _draw(dm, fmt)
    raise ValidationError(
        f"unknown graph format {fmt!r}", details={"allowed": ["mermaid", "svg", "png"]}
    )


# --- model shared by both renderers -----------------------------------------------------------


class _Node:
    __slots__ = ("country", "id", "key", "kind", "label")

    def __init__(self, key: str, kind: str, label: str, country: str | None, node_id: str) -> None:
        self.key, self.kind, self.label, self.country, self.id = key, kind, label, country, node_id


def _nodes(dm: DataMap) -> dict[str, _Node]:
    """One node per system, recipient and the data subject, with unique Mermaid-safe ids."""
    used: set[str] = set()

    def safe(prefix: str, key: str) -> str:
        base = f"{prefix}_{re.sub(r'[^A-Za-z0-9_]', '_', key)}"
        node_id, n = base, 2
        while node_id in used:
            node_id, n = f"{base}_{n}", n + 1
        used.add(node_id)
        return node_id

    nodes: dict[str, _Node] = {}
    if any(f.source == DATA_SUBJECT for f in dm.flows):
        nodes[DATA_SUBJECT] = _Node(DATA_SUBJECT, "subject", "Data subject", None, "data_subject")
        used.add("data_subject")
    for s in dm.systems:
        kind = "vendor" if s.vendor else "system"
        label = f"{s.name} ({s.vendor.name})" if s.vendor else s.name
        nodes.setdefault(s.key, _Node(s.key, kind, label, s.hosting_country, safe("sys", s.key)))
    for r in dm.recipients:
        nodes.setdefault(r.key, _Node(r.key, "recipient", r.name, r.country, safe("rec", r.key)))
    return nodes


def _is_third_country(dm: DataMap, nodes: dict[str, _Node], flow: Flow) -> bool:
    src, dst = nodes.get(flow.source), nodes.get(flow.target)
    if src is None or dst is None or dst.country is None:
        return False
    home = dm.organization.establishment_country if dm.organization else None
    src_country = src.country or home
    return (
        serves_eu(dm) and (src_country is None or in_eea(src_country)) and not in_eea(dst.country)
    )


def _edge_label(dm: DataMap, flow: Flow) -> str:
    tax = dm.taxonomy_index()
    purpose = dm.purpose(flow.purpose)
    names = [tax.name("data_category", c) for c in flow.data_categories]
    shown = ", ".join(names[:EDGE_CATEGORIES])
    if len(names) > EDGE_CATEGORIES:
        shown += f" +{len(names) - EDGE_CATEGORIES} more"
    return f"{purpose.name if purpose else flow.purpose}: {shown}"


# --- Mermaid --------------------------------------------------------------------------------


def _q(text: str) -> str:
    """Quote a Mermaid label: double quotes become the ``#quot;`` entity."""
    return '"' + text.replace('"', "#quot;").replace("\n", " ") + '"'


def _mermaid(dm: DataMap) -> str:
    nodes = _nodes(dm)
    lines = ["flowchart LR"]
    for node in nodes.values():
        label = node.label + (f"<br/>{node.country}" if node.country else "")
        shape = {
            "subject": ("([", "])"),
            "system": ("[", "]"),
            "vendor": ("[[", "]]"),
            "recipient": ("[/", "/]"),
        }[node.kind]
        lines.append(f"  {node.id}{shape[0]}{_q(label)}{shape[1]}")
    third: list[int] = []
    edge_index = 0
    for flow in dm.flows:
        src, dst = nodes.get(flow.source), nodes.get(flow.target)
        if src is None or dst is None:
            continue
        label = _edge_label(dm, flow)
        if _is_third_country(dm, nodes, flow):
            label = f"third-country transfer to {dst.country} — {label}"
            lines.append(f"  {src.id} -.->|{_q(label)}| {dst.id}")
            third.append(edge_index)
        else:
            lines.append(f"  {src.id} -->|{_q(label)}| {dst.id}")
        edge_index += 1
    lines += [
        "  classDef subject fill:#fff4d6,stroke:#b58900",
        "  classDef system fill:#e8f0fe,stroke:#3465a4",
        "  classDef vendor fill:#f3e8fd,stroke:#75507b",
        "  classDef recipient fill:#eaf7ea,stroke:#4e9a06",
    ]
    for kind in ("subject", "system", "vendor", "recipient"):
        ids = [n.id for n in nodes.values() if n.kind == kind]
        if ids:
            lines.append(f"  class {','.join(ids)} {kind}")
    if third:
        lines.append(f"  linkStyle {','.join(map(str, third))} stroke:#cc0000,stroke-width:2px")
    return "\n".join(lines) + "\n"


# --- SVG / PNG ------------------------------------------------------------------------------

_COLOURS = {"subject": "#fff4d6", "system": "#e8f0fe", "vendor": "#f3e8fd", "recipient": "#eaf7ea"}


def _draw(dm: DataMap, fmt: Literal["svg", "png"]) -> str | bytes:
    import matplotlib

    matplotlib.use("Agg")
    import networkx as nx
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    nodes = _nodes(dm)
    graph: Any = nx.MultiDiGraph()
    for node in nodes.values():
        graph.add_node(node.id, layer=0)
    # one drawn edge per (source, target): parallel flows share it and list their purposes
    edges: dict[tuple[str, str], tuple[list[str], bool]] = {}
    for flow in dm.flows:
        src, dst = nodes.get(flow.source), nodes.get(flow.target)
        if src is None or dst is None:
            continue
        purpose = dm.purpose(flow.purpose)
        names, third = edges.setdefault((src.id, dst.id), ([], False))
        name = purpose.name if purpose else flow.purpose
        if name not in names:
            names.append(name)
        edges[(src.id, dst.id)] = (names, third or _is_third_country(dm, nodes, flow))
        graph.add_edge(src.id, dst.id)
    # layers: distance from the data subject (or from sources), recipients last
    starts = [n for n in graph.nodes if graph.in_degree(n) == 0] or list(graph.nodes)[:1]
    depth: dict[str, int] = {}
    for start in starts:
        for target, dist in nx.single_source_shortest_path_length(graph, start).items():
            depth[target] = min(depth.get(target, dist), dist)
    last = max(depth.values(), default=0) + 1
    for node in nodes.values():
        layer = last if node.kind == "recipient" else depth.get(node.id, 0)
        graph.nodes[node.id]["layer"] = layer
    pos = nx.multipartite_layout(graph, subset_key="layer") if len(graph) else {}

    width = max(8.0, 2.6 * (last + 1))
    widest_layer = max(
        (sum(1 for n in graph.nodes if graph.nodes[n]["layer"] == i) for i in range(last + 1)),
        default=1,
    )
    height = max(5.0, 1.2 * widest_layer + 1.5)
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_title(f"Data flows — {dm.organization.name if dm.organization else 'data map'}")
    by_id = {n.id: n for n in nodes.values()}
    for (src_id, dst_id), (purposes, third) in edges.items():
        nx.draw_networkx_edges(
            graph,
            pos,
            edgelist=[(src_id, dst_id)],
            ax=ax,
            style="dashed" if third else "solid",
            edge_color="#cc0000" if third else "#555555",
            arrows=True,
            arrowsize=12,
            node_size=2400,
            connectionstyle="arc3,rad=0.08",
        )
        (x1, y1), (x2, y2) = pos[src_id], pos[dst_id]
        text = "\n".join(purposes)
        if third:
            text += f"\nthird-country transfer → {by_id[dst_id].country}"
        ax.text(
            (x1 + x2) / 2,
            (y1 + y2) / 2,
            text,
            fontsize=6,
            ha="center",
            va="center",
            color="#cc0000" if third else "#333333",
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
        )
    for node in nodes.values():
        x, y = pos[node.id]
        label = node.label + (f"\n{node.country}" if node.country else "")
        ax.text(
            x,
            y,
            label,
            ha="center",
            va="center",
            fontsize=7,
            bbox={"boxstyle": "round,pad=0.4", "fc": _COLOURS[node.kind], "ec": "#666666"},
        )
    ax.margins(0.15)
    buffer = io.BytesIO()
    if fmt == "svg":
        # a fixed salt makes clip-path ids, hence the whole SVG, reproducible
        with matplotlib.rc_context({"svg.hashsalt": "trustcart"}):
            fig.savefig(buffer, format="svg", metadata={"Date": None})
        return buffer.getvalue().decode("utf-8")
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()

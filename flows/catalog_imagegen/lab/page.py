"""The side-by-side page of a lab run: one row per slot, the current image and each draft's in
columns, each prompt with its words removed and added against the current one, cost and flags.

A static file next to the lab manifest (``lab/runs/{lab id}/index.html``), like the run's review
page: no scripts, no external assets, relative image links, every text escaped. Pure: the lab
manifest in, HTML out. The review app's Lab page shows the same pieces (``summary_html``,
``choices_html``, ``comparison_html``) with its own image addresses and a form to choose.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any
from urllib.parse import quote

from catalog_imagegen.lab.prompt_diff import changed_words, word_diff
from catalog_imagegen.lab.record import page_key
from catalog_imagegen.review.page import PAGE_SHELL, STATUS_WORDS

_DIFF_TAGS = {"same": "span", "removed": "del", "added": "ins"}
ImageAddress = Callable[[str], str]  # an image's key in the lab store -> its link, URL-quoted


def render_lab_page(document: Mapping[str, Any]) -> str:
    lab_id = str(document.get("lab_id", ""))
    page_dir = posixpath.dirname(page_key(lab_id))
    body = [
        f"<h1>Lab: {_text(document.get('template', ''))} <small>run {_text(lab_id)}</small></h1>",
        summary_html(document),
        choices_html(document.get("choices", [])),
        comparison_html(document, lambda key: quote(posixpath.relpath(key, page_dir), safe="/")),
    ]
    title = _text(f"Lab: {document.get('template', '')} {lab_id}")
    return PAGE_SHELL.format(title=title, style=LAB_STYLE, body="\n".join(body))


def comparison_html(document: Mapping[str, Any], address: ImageAddress) -> str:
    """The table: one row per slot, one column per version (the chosen one marked), and the
    slots the lab could not plan."""
    versions = [str(v["name"]) for v in document.get("versions", [])]
    chosen = chosen_version(document)
    head = "".join(
        f"<th>{_version_heading(v, document, chosen=v['name'] == chosen)}</th>"
        for v in document["versions"]
    )
    rows = "".join(_row_html(slot, versions, address) for slot in document.get("slots", []))
    rejects = "".join(f"<p class='reject'>{_text(r)}</p>" for r in document.get("rejects", []))
    return f"<table class='lab'><tr><th>slot</th>{head}</tr>{rows}</table>{rejects}"


def chosen_version(document: Mapping[str, Any]) -> str:
    """The version the latest choice prefers (``""`` before any)."""
    choices = document.get("choices") or []
    return str(choices[-1].get("version", "")) if choices else ""


def _version_heading(
    version: Mapping[str, Any], document: Mapping[str, Any], *, chosen: bool
) -> str:
    label = version.get("template_label") or ""
    cost = document.get("cost_by_version", {}).get(version["name"], {}).get("estimated") or 0.0
    return (
        f"<span class='name'>{_text(version['name'])}</span>"
        + (" <b class='chosen'>chosen</b>" if chosen else "")
        + (f" <span class='label'>{_text(label)}</span>" if label else "")
        + f" <code>{_text(version['template_version'])}</code>"
        + f"<br><small>${cost:.3f} estimated"
        + (f" &middot; {_text(version['draft'])}" if version.get("draft") else "")
        + "</small>"
    )


def summary_html(document: Mapping[str, Any], *, command_hint: bool = True) -> str:
    cost = document.get("cost", {})
    actual = cost.get("actual")
    lines = [
        f"Catalog <code>{_text(document.get('catalog', ''))}</code>, "
        f"{len(document.get('slots', []))} slots, provider {_text(document.get('provider', ''))}"
        f", model {_text(document.get('model', ''))}.",
        f"Lab cost: <b class='cost'>${cost.get('estimated') or 0.0:.3f}</b> estimated"
        + (f", ${actual:.3f} actual" if actual is not None else "")
        + " (lab spend, not production spend).",
    ]
    if command_hint:
        lines.append(
            "Choose a version: <code>catalog-imagegen lab choose "
            f"{_text(document.get('lab_id', ''))} VERSION --note &quot;why&quot;</code>"
        )
    if document.get("preview"):
        lines.append("Offline previews: flat colour cards, not generated photos.")
    return "".join(f"<p>{line}</p>" for line in lines)


def choices_html(choices: Sequence[Mapping[str, Any]]) -> str:
    if not choices:
        return "<p class='choices'>No version chosen yet.</p>"
    items = "".join(
        f"<li><b>{_text(c.get('version'))}</b> chosen by {_text(c.get('by'))} on "
        f"{_text(c.get('at'))}: {_text(c.get('note'))}</li>"
        for c in choices
    )
    return f"<ul class='choices'>{items}</ul>"


def _row_html(slot: Mapping[str, Any], versions: Sequence[str], address: ImageAddress) -> str:
    images = slot.get("images", {})
    current = images.get(versions[0], {}).get("prompt", "") if versions else ""
    cells = "".join(
        _cell_html(name, images.get(name), current, address, is_current=number == 0)
        for number, name in enumerate(versions)
    )
    heading = (
        f"<th class='slot'>{_text(slot['sku'])}<br><small>{_text(slot.get('title', ''))}"
        f"</small><br>{_text(slot['colour'])} &middot; {_text(slot['season'])}</th>"
    )
    return f"<tr>{heading}{cells}</tr>"


def _cell_html(
    name: str,
    image: Mapping[str, Any] | None,
    current: str,
    address: ImageAddress,
    *,
    is_current: bool,
) -> str:
    if image is None:
        return f"<td class='version none' data-version='{_text(name)}'>not planned</td>"
    entry = image.get("entry")
    status = STATUS_WORDS.get(image["status"], image["status"])
    cost = (image.get("cost") or {}).get("estimated") or 0.0
    caption = f"{_text(status)} &middot; ${cost:.3f}"
    if entry:
        src = _text(address(entry["storage_key"]))
        picture = f"<a href='{src}'><img src='{src}' alt='{_text(name)}'></a>"
    else:
        picture = f"<p class='reason'>{_text(image.get('reason', ''))}</p>"
    flags = (entry or {}).get("flags") or []
    flag_html = "".join(f"<li class='flag'>{_text(_flag_text(f))}</li>" for f in flags)
    prompt = _prompt_html(image["prompt"], current, is_current=is_current)
    return (
        f"<td class='version {_text(image['status'])}' data-version='{_text(name)}'>"
        f"<figure>{picture}<figcaption>{caption}</figcaption></figure>"
        f"<ul class='flags'>{flag_html}</ul>{prompt}</td>"
    )


def _prompt_html(prompt: str, current: str, *, is_current: bool) -> str:
    if is_current:
        return f"<p class='prompt'>{_text(prompt)}</p>"
    runs = word_diff(current, prompt)
    removed, added = changed_words(runs)
    words = " ".join(_words_html(r.change, r.text) for r in runs)
    return (
        f"<p class='changes'>{removed} words removed, {added} added</p>"
        f"<p class='prompt diff'>{words}</p>"
    )


def _words_html(change: str, text: str) -> str:
    tag = _DIFF_TAGS[change]
    return f"<{tag}>{_text(text)}</{tag}>"


def _flag_text(flag: Mapping[str, Any]) -> str:
    details = ", ".join(f"{k} {v}" for k, v in flag.items() if k != "kind")
    return f"{flag.get('kind', '')}" + (f" ({details})" if details else "")


def _text(value: object) -> str:
    return escape(str(value), quote=True)


# The table's look, which the review app's Lab page uses too; the page's own body line first.
LAB_TABLE_STYLE = """
h1 small,th small{font-weight:normal;color:#666}table{border-collapse:collapse;background:#fff}
td,th{border:1px solid #ddd;padding:6px;vertical-align:top;text-align:left}
td.version{width:260px}img{width:256px;height:256px;object-fit:contain;background:#eee}
figure{margin:0}figcaption{font-size:12px;color:#555}.label{background:#e6f0ff;padding:0 4px}
.prompt{font-size:12px;overflow-wrap:anywhere}del{background:#fdd;color:#900}
ins{background:#dfd;color:#060;text-decoration:none}.changes{font-size:12px;color:#555;margin:0}
.flag{color:#a00;font-size:12px}.failed,.not_dispatched{background:#fde8e8}
.reason{color:#a00}.reject{color:#a00}.chosen{background:#1f7a3a;color:#fff;padding:0 4px}
"""
LAB_STYLE = (
    "\nbody{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#222;background:#fafafa}"
    + LAB_TABLE_STYLE
)

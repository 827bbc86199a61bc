"""Exports of a blueprint (docs/architecture.md, "Exports"): the picture, the requirements spec,
the machine forms.

Every module here is pure — it reads a snapshot (``blueprint.snapshots``) and the block that says
which version it is, never the database — except ``selectors``, which loads that pair:

- ``subject``  what is exported: the snapshot, its version block, the decision day and its lint;
- ``diagram``  the DOT source (written and quoted there) and its SVG/PNG/PDF from Graphviz's ``dot``;
- ``cases``    acceptance test cases from the logic: a profile per offer that can be shown, per gap;
- ``spec``     the requirements spec as Markdown and HTML, and PDF from that HTML (WeasyPrint);
- ``mermaid``  the Markdown spec's diagram: the journey as a Mermaid flowchart;
- ``dmn``      DMN 1.3 decision tables, one per stage.

Each language has its quoting functions in the module that writes it (``diagram.dot_string``,
``diagram.html_text``, ``diagram.svg_clean``, ``dmn.feel_string``, ``dmn.xml_text``, ``spec.md``,
``spec.md_code``, ``spec.md_block``, ``mermaid.mermaid_label``; SQL in ``decisioning.sql``): README "Security" lists them.
"""

"""The web layer: blueprints (pages, tools, api) over the kb package; it never imports Whoosh."""

"""The web UI (Gradio): layout (Blocks), handlers, pure HTML rendering, the About tab, the HTTP guard, assets.

``app.py`` at the top of the repository is the Space's entry point; it builds the page with
``ui.layout.build_app`` and serves it with ``ui.layout.launch``.
"""

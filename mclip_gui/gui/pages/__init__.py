"""Pages of the main window; each module has `create_page(window) -> (title, widget)`."""

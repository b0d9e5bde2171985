"""The application core: storage, images, models, captions, training. Never imports Qt."""

"""SessionStory: self-hosted session replay in one process."""

__version__ = "0.1.0"

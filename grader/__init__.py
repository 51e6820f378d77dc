"""How answers are judged and served: reading, comparing, diagnosing, the sandbox, storage, web."""

__version__ = "0.1.0"

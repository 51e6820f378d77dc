"""How one answer is judged, pure: reading it, comparing it, naming its mistake, the verdict.

No database and no web here: a typed answer or a formula is judged in this
process, a function answer in the sandbox (``grader.sandbox``).
"""

"""The course and its storage: accounts, assignments and variants, submissions and
their grading queue, practice, the gradebook, the demo course."""

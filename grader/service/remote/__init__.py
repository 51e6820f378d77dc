"""Grading across machines: procrastinate's task queue on the PostgreSQL database.

With ``GRADER_QUEUE=procrastinate`` a submission is stored with its grading task in
one transaction (:mod:`.web`), and ``grader worker`` processes on any machine that
reaches the database grade it (:mod:`.worker`), each with its own sandbox pool; the
web processes run no student code. The grading job row stays the record of what a
viewer sees (:mod:`grader.service.jobs`); procrastinate carries the work, its
retries, and the tasks of workers that were lost.
"""

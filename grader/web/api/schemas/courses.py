"""Courses and the enrolments of their students and instructors."""

from __future__ import annotations

from pydantic import BaseModel, Field

from grader.web.api.schemas.base import RequestModel, Role
from grader.web.api.schemas.common import UserOut


class CourseIn(RequestModel):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    title: str = Field(min_length=1, max_length=200)


class CourseOut(BaseModel):
    id: int
    code: str
    title: str
    role: Role = Field(description="the caller's role in the course")


class CoursesOut(BaseModel):
    courses: list[CourseOut]


class EnrolmentIn(RequestModel):
    user: str = Field(min_length=1, max_length=64, description="the user's name")
    role: Role = "student"
    section: str = Field(default="", max_length=100)


class EnrolmentOut(BaseModel):
    user: UserOut
    role: Role
    section: str


class EnrolmentsOut(BaseModel):
    enrolments: list[EnrolmentOut]

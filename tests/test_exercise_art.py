"""Every exercise has a picture for every step, in the package's own data."""

from __future__ import annotations

from deskctl.policy.art import frame_at, pictures
from deskctl.policy.exercises import library


def test_every_step_of_every_exercise_has_frames() -> None:
    shown = pictures()
    for exercise in library().exercises:
        steps = shown.get(exercise.id)
        assert steps is not None, exercise.id
        assert len(steps) == len(exercise.steps), exercise.id
        for frames in steps:
            assert frames
            for frame in frames:
                lines = frame.splitlines()
                assert 3 <= len(lines) <= 6
                assert max(len(line) for line in lines) <= 10


def test_the_frames_follow_the_steps_through_the_exercises_time() -> None:
    arch = library().get("standing-back-arch")
    assert arch is not None  # 3 steps in 30 s
    assert frame_at(arch, 0)[0] == 0
    assert frame_at(arch, 10.5)[0] == 1
    assert frame_at(arch, 29.9)[0] == 2
    assert frame_at(arch, 99)[0] == 2  # after the time is up: the last step stays
    assert frame_at(arch, 10.0)[1] != frame_at(arch, 11.0)[1]  # a step's frames alternate


def test_deskctl_run_prints_each_step_beside_its_picture() -> None:
    from deskctl.run_view import pictured_steps

    arch = library().get("standing-back-arch")
    assert arch is not None
    shown = pictured_steps(arch).splitlines()
    first = pictures()["standing-back-arch"][0][-1].splitlines()
    assert shown[0].startswith(f"  {first[0]}")
    assert shown[0].endswith("1. " + arch.steps[0])
    assert any(line.endswith("3. " + arch.steps[2]) for line in shown)

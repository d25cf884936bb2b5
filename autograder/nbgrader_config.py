"""nbgrader configuration for the course (loaded through the shim at the repository root).

Source notebooks live in notebooks/<assignment>/; everything nbgrader generates lives under
autograder/work/ (or $AUTOGRADER_WORK), which is git-ignored.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import ClearHiddenTests, GetGrades  # noqa: E402

from autograder import instructor, paths  # noqa: E402

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

WORK = paths.work()
os.makedirs(WORK, exist_ok=True)  # nbgrader does not create the gradebook's folder

c.CourseDirectory.course_id = "dlcourse"
c.CourseDirectory.root = str(paths.REPO)
c.CourseDirectory.source_directory = "notebooks"
c.CourseDirectory.release_directory = str(WORK / "release")
c.CourseDirectory.submitted_directory = str(WORK / "submitted")
c.CourseDirectory.autograded_directory = str(WORK / "autograded")
c.CourseDirectory.feedback_directory = str(WORK / "feedback")
c.CourseDirectory.solution_directory = str(WORK / "solution")
# The class's database and exchange, where its own nbgrader_config.py sets them (autograder/instructor.py).
# Translation files translate hidden tests too: instructor material, never released (autograder/edition.py).
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.zh.yaml"]
c.CourseDirectory.db_url = instructor.db_url("sqlite:///" + str(WORK / "gradebook.db"))
c.Exchange.root = instructor.setting("Exchange", "root", instructor.DEFAULT_EXCHANGE)

# Per-cell limit in CPU seconds under the grader (autograder.kernel; the wall clock is a backstop at
# ten times that), and the per-notebook CPU limit on top (autograder.worker). Plain nbgrader reads
# the same number as wall seconds.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
# Output may trail a cell's reply by more than nbclient's 4 s on a busy machine.
c.Execute.iopub_timeout = 30
# One-line tracebacks: IPython would otherwise quote hidden test lines in the feedback.
c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:", "--InteractiveShell.xmode=Minimal"]
# A deleted test cell is put back and graded instead of waiting for a manual grade forever.
c.OverwriteCells.add_missing_cells = True
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]

# Lets `nbgrader ...` and the formgrader find the course's configuration from the repository root.
import os

c = get_config()  # noqa: F821
load_subconfig(os.path.join(os.path.dirname(os.path.abspath(__file__)), "autograder", "nbgrader_config.py"))  # noqa: F821

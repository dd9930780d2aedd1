# The project's version (CMakeLists.txt `project(memray VERSION ...)`); build_wheel.py refuses
# to build a wheel when the two disagree.
__version__ = "0.1.0"

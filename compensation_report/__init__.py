"""Price software-incident compensation against a standard and write the monthly Excel report."""

__version__ = "0.1.0"

"""Price software-incident compensation against a standard and write the monthly Excel report."""

__version__ = "0.3.0"

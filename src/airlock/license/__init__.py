"""`airlock license`: which license a model carries and what it obliges the organization to do."""

from airlock.license.assess import LicenseAssessment, assess_path

__all__ = ["LicenseAssessment", "assess_path"]

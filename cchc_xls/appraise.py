"""Appraisal: the council's scores and the province's survey scores, round-tripped through Excel.

The work is done along the data flow by appraisal_write.py (workbooks out), appraisal_read.py
(returned workbooks in) and appraisal_merge.py (into the harvest); this module keeps the names
other code imports.
"""

from cchc_xls.appraisal_merge import UnitAppraisal, appraisal_missing, merge_appraisals
from cchc_xls.appraisal_read import Entry, read_appraisal
from cchc_xls.appraisal_write import AppraisalOutputs, write_appraisal_workbooks

__all__ = ["AppraisalOutputs", "Entry", "UnitAppraisal", "appraisal_missing", "merge_appraisals", "read_appraisal",
           "write_appraisal_workbooks"]

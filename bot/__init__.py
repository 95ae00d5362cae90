"""Worth Knowing: pairs coworkers across levels of the company for lunch."""

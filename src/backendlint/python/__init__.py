"""The Python front end: parsing, name resolution, one dispatching walk, string building."""

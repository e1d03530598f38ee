"""The raw-tensor kind: the view of tags that no plugin claims."""

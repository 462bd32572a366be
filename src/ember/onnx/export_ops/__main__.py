"""``python -m ember.onnx.export_ops``: print the ONNX lowering table as Markdown."""

from . import markdown_table

print(markdown_table())

"""Economics beside the cost book: the Russian export duty in contract prices (`duty`), what
crude is worth at the refinery gate (`valuation`), and refineries' crude windows (`window`).
docs/valuation.md states the equations."""

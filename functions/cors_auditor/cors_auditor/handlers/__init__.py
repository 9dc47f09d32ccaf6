"""The auditor's entry points, one module per trigger the template wires; each reads only its own event."""

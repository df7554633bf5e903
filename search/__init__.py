"""The outer loop: design spaces, objectives, SMAC studies, parallel trials, results, reports and the CLI."""

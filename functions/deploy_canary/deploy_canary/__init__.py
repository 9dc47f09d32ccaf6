"""The email sender's deploy canary: CodeDeploy's PreTraffic hook, one real email through the new version."""

"""Security Hub, out: endpoint-guard's verdicts as findings where ops already look (SecurityHubFindings)."""

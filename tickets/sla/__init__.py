"""The SLA clock's sweep (`sweep`): warnings, breaches and escalations, run by beat (`tasks`)."""

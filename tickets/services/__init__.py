"""Appeal services, one function per action (STYLE.md §1-2): `intake` files an appeal, `appellant` holds
what the appellant does afterwards, `agent` what the console's people do, `scheduled` what beat runs.
`tasks` holds their Celery tasks; `errors` the one error they raise."""

"""Web pages: sign-in, the staff console and the TV panel (clinic host), the chain dashboard.

Server-rendered templates (templates/pages/) with a little plain JavaScript (static/clinico/)
that calls the JSON API with the session cookie and the CSRF header. One module per page family;
`access` holds what every page starts with. This is the top floor beside the wiring (`clinico`):
it calls the apps' services and selectors, and nothing imports it but the URL configuration.
"""

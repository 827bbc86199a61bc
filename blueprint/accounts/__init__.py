"""People's access: named, expiring API tokens (django-rest-knox, our token model) and the end of a
person's access when their password changes or their account is deactivated; log-in throttling
(django-axes) is configured in settings and answered in ``throttle``."""

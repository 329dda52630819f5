import os

from django.core.wsgi import get_wsgi_application

# Production settings unless told otherwise: only manage.py and the development scripts
# (Makefile, deploy/stack.sh) fall back to clinico.settings.dev and its published secret key.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinico.settings.prod")
application = get_wsgi_application()

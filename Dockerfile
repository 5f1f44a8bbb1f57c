# csplatform production image: one image for web (gunicorn), worker and beat (Celery).
# Settings: csplatform.settings.production; configuration comes from the environment
# (see docker-compose.yml and README.md "Deploying with docker-compose").
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=csplatform.settings.production

WORKDIR /app

# The project's pinned dependencies (what `pip install .` would pull in), in their own layer so
# a code change does not reinstall them. The code itself is not installed into site-packages:
# it runs from /app, where the settings find templates/ and static/ beside it.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .
ENV PYTHONPATH=/app

# Static files are collected at build time and served by whitenoise from /app/staticfiles.
# The settings demand a strong secret key and hosts; these throwaway values exist only for
# this step (the key is random and thrown away, never baked into the image).
RUN DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    DJANGO_ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --noinput --verbosity 0

RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home csplatform
USER csplatform

EXPOSE 8000
CMD ["gunicorn", "csplatform.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]

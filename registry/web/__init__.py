"""The intake app's web plumbing: the Flask app, its forms, views, templates and static
files, error pages, rate limits and security headers. Views call services."""

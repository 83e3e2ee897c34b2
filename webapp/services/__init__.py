"""Business logic that routes and jobs call: plain Python, no flask.request."""

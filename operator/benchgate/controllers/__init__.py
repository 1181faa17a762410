"""kopf handlers: thin glue that gathers, calls domain logic, and patches."""

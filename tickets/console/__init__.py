"""The staff console (`/desk/`): queues, the appeal page, actions, metrics. Views call selectors and
services; `presentation` builds the HTML pieces rendered once per row."""

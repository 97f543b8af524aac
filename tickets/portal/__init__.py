"""The public portal: appeal types, the appeal form, the tracking look-up and the appellant's status page."""

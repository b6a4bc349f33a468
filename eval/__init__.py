"""The labelled set that measures the local AI: questions with their filter specs, scenario
sessions with the facts a summary must mention. `python -m eval` (`make eval`) scores them."""

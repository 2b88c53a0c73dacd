"""Batch mode: jobs sent through the provider's Batch API at half the price, collected later.

``wire`` builds request lines and reads result lines (pure), ``client`` talks to the Files and
Batches endpoints, ``submissions`` records what was sent in the store, ``submit`` sends, and
``collect`` stores and publishes what came back.
"""

"""The normalizer benchmark: one worker against a bare aiokafka consume->produce loop."""

"""tuijian.service: the online REST service (``create_app``), its engine and storage wiring."""

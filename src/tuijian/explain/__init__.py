"""tuijian.explain"""

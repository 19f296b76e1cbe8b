"""tuijian.privacy"""

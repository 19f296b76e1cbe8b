"""tuijian.store"""
